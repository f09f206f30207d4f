// Web shells: tiny server-side scripts evaluating request data.

rule WEBSHELL_PHP_Eval_Request : webshell php
{
    meta:
        author = "malpipe project"
        description = "Small PHP file that evaluates a request parameter (one-line web shell)"
        date = "2026-11-27"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        score = 80
    strings:
        $php = "<?php"
        $eval_post = /@?eval\s{0,4}\(\s{0,4}\$_(POST|GET|REQUEST|COOKIE)\[/
        $assert_post = /@?assert\s{0,4}\(\s{0,4}\$_(POST|GET|REQUEST|COOKIE)\[/
    condition:
        filesize < 64KB and $php and ($eval_post or $assert_post)
}

rule WEBSHELL_ASPX_Process_Start : webshell aspx
{
    meta:
        author = "malpipe project"
        description = "ASPX page starting cmd.exe with a command taken from the request"
        date = "2026-11-27"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
        score = 70
    strings:
        $page = "<%@ Page" ascii nocase
        $process = "Process.Start" ascii
        $cmd = "cmd.exe" ascii nocase
        $request = "Request[" ascii
    condition:
        filesize < 128KB and $page and $process and $cmd and $request
}
