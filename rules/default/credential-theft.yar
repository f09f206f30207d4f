// Credential dumping tools. Written for malpipe.

rule Mimikatz_Strings : hacktool credentials
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/software/S0002/"
        description = "Mimikatz (or a build of its modules): command names and the author's signature strings"
        date = "2026-11-27"
        score = 85
        family = "mimikatz"
    strings:
        $cmd_logonpasswords = "sekurlsa::logonpasswords" ascii wide nocase
        $cmd_lsadump = "lsadump::sam" ascii wide nocase
        $cmd_dcsync = "lsadump::dcsync" ascii wide nocase
        $cmd_privilege = "privilege::debug" ascii wide nocase
        $author = "gentilkiwi" ascii wide
        $module = "kuhl_m_sekurlsa" ascii wide
        $banner = "mimikatz" ascii wide nocase
    condition:
        2 of them
}
