// Script launchers and one-liners. Written for malpipe's examples; each rule has a synthetic positive in
// samples/ (see tests.json). Plain strings with long atoms, cheap gates first.

rule SUSP_PowerShell_Hidden_EncodedCommand : powershell launcher
{
    meta:
        author = "malpipe project"
        description = "PowerShell started hidden with a base64 -EncodedCommand argument, as droppers and macros do"
        date = "2026-11-27"
        reference = "https://attack.mitre.org/techniques/T1059/001/"
        score = 60
    strings:
        $exe = "powershell." ascii nocase
        $hidden = "-WindowStyle Hidden" ascii nocase
        $hidden_short = "-w hidden" ascii nocase
        $enc = /-e(nc|ncodedcommand)? [A-Za-z0-9+\/=]{24,4096}/ ascii nocase
    condition:
        filesize < 2MB and $exe and $enc and ($hidden or $hidden_short)
}

rule SUSP_Certutil_Download : lolbin downloader
{
    meta:
        author = "malpipe project"
        description = "certutil used to download a file (-urlcache -split -f http...)"
        date = "2026-11-27"
        reference = "https://lolbas-project.github.io/lolbas/Binaries/Certutil/"
        score = 50
    strings:
        $certutil = "certutil." ascii nocase
        $verb = /-urlcache -split -f https?:\/\// ascii nocase
    condition:
        filesize < 1MB and $certutil and $verb
}

rule SUSP_Bash_Reverse_Shell : linux shell
{
    meta:
        author = "malpipe project"
        description = "Interactive bash redirected to a /dev/tcp socket (classic reverse shell one-liner)"
        date = "2026-11-27"
        reference = "https://attack.mitre.org/techniques/T1059/004/"
        score = 70
    strings:
        $devtcp = /bash -i >& ?\/dev\/tcp\/[0-9.]{7,15}\/[0-9]{1,5}/
    condition:
        filesize < 512KB and $devtcp
}

rule SUSP_HTA_WScript_Shell_Run : hta launcher
{
    meta:
        author = "malpipe project"
        description = "HTML application whose script creates WScript.Shell and runs a command"
        date = "2026-11-27"
        reference = "https://attack.mitre.org/techniques/T1218/005/"
        score = 50
    strings:
        $hta = "<HTA:APPLICATION" ascii nocase
        $shell = "WScript.Shell" ascii nocase
        $run = ".Run(" ascii nocase
    condition:
        filesize < 1MB and $hta and $shell and $run
}
