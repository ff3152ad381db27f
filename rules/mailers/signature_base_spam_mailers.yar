/*
    Source: Neo23x0/signature-base (https://github.com/Neo23x0/signature-base), commit 8a89b3bf5451,
    file yara/thor-webshells.yar (rules selected by seized).
    Licence: Detection Rule License (DRL) 1.1, attribution required: Florian Roth (Nextron Systems)
    and the signature-base contributors. Licence text: rules/LICENSES/signature-base_DRL-1.1.txt
    Changes by seized: meta fields source/reference/license added; strings and conditions unchanged.
*/
rule WebShell_Moroccan_Spamers_Ma_EditioN_By_GhOsT {
	meta:
		description = "PHP Webshells Github Archive - file Moroccan Spamers Ma-EditioN By GhOsT.php"
		license = "Detection Rule License 1.1 https://github.com/Neo23x0/signature-base/blob/master/LICENSE"
		author = "Florian Roth (Nextron Systems)"
		source = "Neo23x0/signature-base yara/thor-webshells.yar"
		reference = "https://github.com/Neo23x0/signature-base/blob/master/yara/thor-webshells.yar"
		hash = "31e5473920a2cc445d246bc5820037d8fe383201"
		id = "4fa9ce70-d300-55fe-bf98-636f026317ec"
	strings:
		$s4 = "$content = chunk_split(base64_encode($content)); " fullword
		$s12 = "print \"Sending mail to $to....... \"; " fullword
		$s16 = "if (!$from && !$subject && !$message && !$emaillist){ " fullword
	condition:
		all of them
}

rule Moroccan_Spamers_Ma_EditioN_By_GhOsT_php {
	meta:
		description = "Semi-Auto-generated  - file Moroccan Spamers Ma-EditioN By GhOsT.php.txt"
		author = "Neo23x0 Yara BRG + customization by Stefan -dfate- Molls"
		source = "Neo23x0/signature-base yara/thor-webshells.yar"
		reference = "https://github.com/Neo23x0/signature-base/blob/master/yara/thor-webshells.yar"
		license = "Detection Rule License 1.1 https://github.com/Neo23x0/signature-base/blob/master/LICENSE"
		hash = "d1b7b311a7ffffebf51437d7cd97dc65"
		id = "721d6e9f-a237-5462-a8d3-f838d7fda420"
	strings:
		$s0 = ";$sd98=\"john.barker446@gmail.com\""
		$s1 = "print \"Sending mail to $to....... \";"
		$s2 = "<td colspan=\"2\" width=\"715\" background=\"/simparts/images/cellpic1.gif\" hei"
	condition:
		1 of them
}
