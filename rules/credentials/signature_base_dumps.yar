/*
    Source: Neo23x0/signature-base (https://github.com/Neo23x0/signature-base), commit 8a89b3bf5451,
    file yara/generic_dumps.yar (rules selected by seized).
    Licence: Detection Rule License (DRL) 1.1, attribution required: Florian Roth (Nextron Systems)
    and the signature-base contributors. Licence text: rules/LICENSES/signature-base_DRL-1.1.txt
    Changes by seized: meta fields source/reference added where absent; strings and conditions unchanged.
*/
rule NTLM_Dump_Output {
   meta:
      description = "NTML Hash Dump output file - John/LC format"
      license = "Detection Rule License 1.1 https://github.com/Neo23x0/signature-base/blob/master/LICENSE"
      author = "Florian Roth (Nextron Systems)"
      source = "Neo23x0/signature-base yara/generic_dumps.yar"
      reference = "https://github.com/Neo23x0/signature-base/blob/master/yara/generic_dumps.yar"
      date = "2015-10-01"
      score = 75
      id = "d17ee473-317b-57d4-8ea8-7c89e8f2b2ed"
   strings:
      $s0 = "500:AAD3B435B51404EEAAD3B435B51404EE:" ascii
      $s1 = "500:aad3b435b51404eeaad3b435b51404ee:" ascii
   condition:
      1 of them
}

rule Gsecdump_password_dump_file {
   meta:
      description = "Detects a gsecdump output file"
      license = "Detection Rule License 1.1 https://github.com/Neo23x0/signature-base/blob/master/LICENSE"
      author = "Florian Roth (Nextron Systems)"
      source = "Neo23x0/signature-base yara/generic_dumps.yar"
      reference = "https://t.co/OLIj1yVJ4m"
      date = "2018-03-06"
      score = 65
      id = "c7c8ab61-f728-5eb2-a5e3-b3dd84980870"
   strings:
      $x1 = "Administrator(current):500:" ascii
   condition:
      uint32be(0) == 0x41646d69 and filesize < 3000 and $x1 at 0
}
