// Packers and embedded executables. Written for malpipe; plain byte checks, no modules.

rule UPX_Packed_PE : packer
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/techniques/T1027/002/"
        description = "PE file packed with UPX (UPX0/UPX1 section names and the UPX! marker)"
        date = "2026-11-27"
        score = 40
        family = "upx"
    strings:
        $section0 = { 55 50 58 30 00 00 00 00 }   // "UPX0" padded to 8 bytes in the section table
        $section1 = { 55 50 58 31 00 00 00 00 }   // "UPX1"
        $marker = "UPX!"
    condition:
        uint16(0) == 0x5A4D
        and uint32(0x3C) < 0x400
        and uint32(uint32(0x3C)) == 0x00004550
        and $section0 in (0..0x800)
        and ($section1 in (0..0x800) or $marker in (0..0x1000))
}

rule Embedded_PE_In_Non_PE : embedded
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/techniques/T1027/009/"
        description = "A PE image (MZ header with the standard DOS stub message) inside a file that is not itself a PE"
        date = "2026-11-27"
        score = 30
    strings:
        // "MZ", then the standard DOS stub whose message starts at 0x4E: a fixed jump, so no loop is needed.
        $mz_stub = { 4D 5A [76] 54 68 69 73 20 70 72 6F 67 72 61 6D 20 63 61 6E 6E 6F 74 20 62 65 20 72 75 6E }
    condition:
        uint16(0) != 0x5A4D and $mz_stub
}
