// Encoded executables found without strings: the key is derived from bytes whose plaintext is known.

rule SUSP_XOR2_Encoded_PE_Header : encoded pe
{
    meta:
        author = "malpipe project"
        description = "PE header XOR-encoded with a 2-byte key: the key is recovered from MZ and verified on PE at e_lfanew"
        date = "2026-11-27"
        reference = "https://github.com/Neo23x0/signature-base/blob/master/yara/gen_xored_pe.yar"
        score = 40
        hash1 = "a0e649b0faf4fd29d233a292a81c475984c19c2ce123b20173b6f6aaee8f41e9"
    condition:
        filesize > 256 and filesize < 20MB
        and uint16(0) != 0x5A4D
        // key = first two bytes XOR "MZ", repeated to 32 bits; e_lfanew (at the even offset 0x3C) decodes below 1 KB
        and (uint32(0x3C) ^ ((uint16(0) ^ 0x5A4D) * 0x10001)) < 0x400
        and (uint32(uint32(0x3C) ^ ((uint16(0) ^ 0x5A4D) * 0x10001)) ^ ((uint16(0) ^ 0x5A4D) * 0x10001)) == 0x00004550
}
