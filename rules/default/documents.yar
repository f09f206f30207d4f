// Office documents with macros. Written for malpipe.

rule Office_OLE_Macro_AutoExec : office macro
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/techniques/T1137/001/"
        description = "OLE (legacy Office) file with a VBA project and an auto-executing macro entry point"
        date = "2026-11-27"
        score = 50
    strings:
        $vba_project = "_VBA_PROJECT" wide
        $vba_attribute = "Attribute VB_Name" ascii
        $auto_document_open = "Document_Open" ascii wide nocase
        $auto_workbook_open = "Workbook_Open" ascii wide nocase
        $auto_autoopen = "AutoOpen" ascii wide nocase
        $auto_auto_open = "Auto_Open" ascii wide nocase
        $auto_autoexec = "AutoExec" ascii wide nocase
        $auto_autoclose = "AutoClose" ascii wide nocase
    condition:
        uint32(0) == 0xE011CFD0 and uint32(4) == 0xE11AB1A1
        and any of ($vba_*) and any of ($auto_*)
}

rule Office_OOXML_Macro_Enabled : office macro
{
    meta:
        author = "malpipe"
        reference = "https://attack.mitre.org/techniques/T1137/001/"
        description = "OOXML (zip) Office document carrying a VBA project (vbaProject.bin)"
        date = "2026-11-27"
        score = 30
    strings:
        $vba_part = "vbaProject.bin" ascii
        $content_types = "[Content_Types].xml" ascii
    condition:
        uint32(0) == 0x04034B50 and $vba_part and $content_types
}
