// Post-exploitation tooling seen as text (scripts, logs, memory strings).

rule HKTL_Mimikatz_Commands : hacktool credentials
{
    meta:
        author = "malpipe project"
        description = "Mimikatz module::command strings for credential dumping"
        date = "2026-11-27"
        reference = "https://github.com/gentilkiwi/mimikatz"
        score = 75
    strings:
        $logonpasswords = "sekurlsa::logonpasswords" ascii wide
        $dcsync = "lsadump::dcsync" ascii wide
        $sam = "lsadump::sam" ascii wide
        $debug = "privilege::debug" ascii wide
    condition:
        2 of them
}

rule HKTL_CobaltStrike_Default_Pipe : cobaltstrike
{
    meta:
        author = "malpipe project"
        description = "Default Cobalt Strike named-pipe name formats (MSSE-, postex_, status_)"
        date = "2026-11-27"
        reference = "https://www.cobaltstrike.com/blog/named-pipe-pivoting"
        score = 60
    strings:
        $msse = "MSSE-%d-server" ascii wide
        $postex = "\\\\.\\pipe\\postex_" ascii wide
        $status = "\\\\.\\pipe\\status_" ascii wide
    condition:
        any of them
}

rule SUSP_Discord_Webhook_Exfil : exfiltration
{
    meta:
        author = "malpipe project"
        description = "A Discord webhook URL next to a file upload or credential-store path (stealer exfiltration)"
        date = "2026-11-27"
        reference = "https://attack.mitre.org/techniques/T1567/"
        score = 50
    strings:
        $webhook = /https:\/\/(canary\.|ptb\.)?discord(app)?\.com\/api\/webhooks\/[0-9]{17,20}\//
        $login_data = "Login Data" ascii wide
        $local_state = "Local State" ascii wide
        $multipart = "multipart/form-data" ascii
    condition:
        filesize < 4MB and $webhook and ($multipart or ($login_data and $local_state))
}
