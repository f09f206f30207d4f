// Cobalt Strike beacons, stagers and configuration blocks. Written for malpipe from published format facts:
// the beacon configuration is a list of (id: u16, type: u16, ...) entries starting with BeaconType
// (id 1, type 1 = short) and Port (id 2, type 1), XOR-ed with 0x69 (3.x) or 0x2E (4.x).

rule CobaltStrike_Beacon_Config_XOR : cobaltstrike beacon
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/software/S0154/"
        description = "Cobalt Strike beacon configuration block, plain or XOR-encoded with 0x69 (3.x) or 0x2E (4.x)"
        date = "2026-11-27"
        score = 80
        family = "cobaltstrike"
    strings:
        $plain = { 00 01 00 01 00 02 ?? ?? 00 02 00 01 00 02 ?? ?? 00 03 00 02 00 04 }
        $xor69 = { 69 68 69 68 69 6B ?? ?? 69 6B 69 68 69 6B ?? ?? 69 6A 69 6B 69 6D }
        $xor2e = { 2E 2F 2E 2F 2E 2C ?? ?? 2E 2C 2E 2F 2E 2C ?? ?? 2E 2D 2E 2C 2E 2A }
    condition:
        any of them
}

rule CobaltStrike_Beacon_Strings : cobaltstrike beacon
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/software/S0154/"
        description = "Strings of an unencoded Cobalt Strike beacon DLL"
        date = "2026-11-27"
        score = 75
        family = "cobaltstrike"
    strings:
        $name32 = "beacon.dll" ascii
        $name64 = "beacon.x64.dll" ascii
        $fmt_impersonate = "%s as %s\\%s: %d" ascii
        $fmt_pipe = "\\\\.\\pipe\\msagent_" ascii
        $fmt_postex = "%02d/%02d/%02d %02d:%02d:%02d" ascii
        $reflective = "ReflectiveLoader" ascii
        $could_not = "Could not connect to pipe (%s): %d" ascii
    condition:
        3 of them
}

rule CobaltStrike_Stager_Shellcode : cobaltstrike stager shellcode
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/software/S0154/"
        description = "Metasploit/Cobalt Strike style HTTP stager: ror13 API hashes pushed before the WinINet calls"
        date = "2026-11-27"
        score = 70
        family = "cobaltstrike"
    strings:
        $api_loadlibrary = { 68 4C 77 26 07 }        // push hash(kernel32!LoadLibraryA)
        $api_internetopen = { 68 3A 56 79 A7 }       // push hash(wininet!InternetOpenA)
        $api_internetconnect = { 68 57 89 9F C6 }    // push hash(wininet!InternetConnectA)
        $api_httpopen = { 68 EB 55 2E 3B }           // push hash(wininet!HttpOpenRequestA)
        $api_virtualalloc = { 68 58 A4 53 E5 }       // push hash(kernel32!VirtualAlloc)
        $wininet = "wininet" ascii
    condition:
        filesize < 2MB and $wininet and 3 of ($api_*)
}
