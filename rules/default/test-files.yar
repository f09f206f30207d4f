// Standard test files. Written for malpipe.

rule EICAR_Test_File : test
{
    meta:
        author = "malpipe"
        reference = "https://www.eicar.org/download-anti-malware-testfile/"
        description = "EICAR anti-virus test file (harmless by design)"
        date = "2026-11-27"
        score = 10
        harmless = true
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*" ascii
    condition:
        $eicar in (0..128)
}
