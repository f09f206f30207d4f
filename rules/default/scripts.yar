// Script droppers. Written for malpipe; long literals keep the atoms selective.

rule PowerShell_Download_Cradle : powershell downloader
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/techniques/T1059/001/"
        description = "PowerShell that downloads content and executes it (WebClient/Invoke-WebRequest + IEX)"
        date = "2026-11-27"
        score = 60
    strings:
        $dl_webclient = "Net.WebClient" ascii wide nocase
        $dl_string = ".DownloadString(" ascii wide nocase
        $dl_data = ".DownloadData(" ascii wide nocase
        $dl_file = ".DownloadFile(" ascii wide nocase
        $dl_iwr = "Invoke-WebRequest" ascii wide nocase
        $dl_bits = "Start-BitsTransfer" ascii wide nocase
        $exec_iex = "IEX" ascii wide
        $exec_invoke = "Invoke-Expression" ascii wide nocase
        $exec_start = "Start-Process" ascii wide nocase
    condition:
        filesize < 5MB and 2 of ($dl_*) and any of ($exec_*)
}

rule PowerShell_Encoded_Command : powershell obfuscation
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/techniques/T1027/010/"
        description = "powershell.exe started hidden with a Base64 -EncodedCommand"
        date = "2026-11-27"
        score = 50
    strings:
        $ps = "powershell" ascii wide nocase
        $enc = /\s-e(nc|ncodedcommand)?\s+[A-Za-z0-9+\/]{40}/ ascii wide nocase
        $hidden = /\s-w(indowstyle)?\s+hid/ ascii wide nocase
    condition:
        filesize < 5MB and $ps and $enc and $hidden
}
