/*
    Rules written for the seized project, licence Apache-2.0.
    Spam-kit artefacts: letter templates carrying bulk-mailer substitution macros, spam-kit
    archives, pharmacy spam of the kind the Rustock botnet sent.
*/
rule mailer_macro_leaf {
  meta:
    description = "Letter/template with Leaf-PHPMailer-style macros ([-email-], [-randomstring-], ...)"
    author      = "seized"
    source      = "seized rules/spamkits/seized_spamkits.yar"
    reference   = "macro syntax of PHP mass-mailer kits (Leaf PHPMailer family); see rules/SOURCES.md"
    license     = "Apache-2.0"

  strings:
    $email        = "[-email-]"
    $emailuser    = "[-emailuser-]"
    $emaildomain  = "[-emaildomain-]"
    $randomstring = "[-randomstring-]"
    $randomletter = "[-randomletters-]"
    $randommd5    = "[-randommd5-]"
    $randomnumber = "[-randomnumber-]"

  condition:
    any of them
}

rule mailer_macro_rnd {
  meta:
    description = "Letter/template with %RND_...% random-token macros of bulk mailers (%RND_NUM[2,2]%, %RND_CH[5,8]%, ...)"
    author      = "seized"
    source      = "seized rules/spamkits/seized_spamkits.yar"
    reference   = "macro syntax of Windows/PHP bulk mailers; see rules/SOURCES.md"
    license     = "Apache-2.0"

  strings:
    $rnd = /%RND_[A-Z_]{1,16}(\[[0-9]{1,3}(,[0-9]{1,3})?\])?%/

  condition:
    $rnd
}

rule mailer_macro_braced {
  meta:
    description = "Letter/template with {%NAME%}-style recipient macros of bulk mailers ({%FIRSTNAME%}, {%EMAIL%}, ...)"
    author      = "seized"
    source      = "seized rules/spamkits/seized_spamkits.yar"
    reference   = "macro syntax of bulk mailers; see rules/SOURCES.md"
    license     = "Apache-2.0"

  strings:
    $macro = /\{%(FIRST_?NAME|LAST_?NAME|FULL_?NAME|NAME|EMAIL|TO_EMAIL|TO_NAME|FROM_EMAIL|FROM_NAME|SUBJECT|DATE|TIME|COMPANY|DOMAIN|URL|LINK|UNSUBSCRIBE|RANDOM[A-Z_0-9]{0,12})%\}/

  condition:
    $macro
}

rule gophish_template_placeholders {
  meta:
    description = "Phishing letter/landing template with GoPhish placeholders ({{.FirstName}}, {{.URL}}, ...), two or more"
    author      = "seized"
    source      = "seized rules/spamkits/seized_spamkits.yar"
    reference   = "https://docs.getgophish.com/user-guide/template-reference"
    license     = "Apache-2.0"

  strings:
    $ph = /\{\{ ?\.(FirstName|LastName|Email|URL|Tracker|TrackingURL|From|Position|RId|BaseURL) ?\}\}/

  condition:
    #ph >= 2
}

rule spam_kit_archive {
  meta:
    description = "ZIP archive whose member names look like a spam kit (letter, mail list, SMTP list, mailer script)"
    author      = "seized"
    source      = "seized rules/spamkits/seized_spamkits.yar"
    reference   = "ZIP local file headers (APPNOTE.TXT 4.3.7); member names of spam kits; see rules/SOURCES.md"
    license     = "Apache-2.0"

  strings:
    $n_letter   = "letter.htm" nocase
    $n_lettertx = "letter.txt" nocase
    $n_mailist  = "mailist" nocase
    $n_maillist = "maillist" nocase
    $n_emails   = "emails.txt" nocase
    $n_leads    = "leads.txt" nocase
    $n_smtp     = "smtps.txt" nocase
    $n_smtp1    = "smtp.txt" nocase
    $n_subjects = "subjects.txt" nocase
    $n_froms    = "fromnames.txt" nocase
    $n_leaf     = "leaf.php" nocase
    $n_mailer   = "mailer.php" nocase

  condition:
    uint32(0) == 0x04034b50 and 2 of ($n_*)
}

rule pharma_spam_content {
  meta:
    description = "Pharmacy spam text naming prescription-drug brands (Viagra, Cialis, Levitra) with pharmacy/prescription lures, as sent by Rustock"
    author      = "seized"
    source      = "seized rules/spamkits/seized_spamkits.yar"
    reference   = "https://blogs.microsoft.com/blog/2011/03/17/taking-down-botnets-microsoft-and-the-rustock-botnet/"
    license     = "Apache-2.0"
    changed     = "2026-12-06: a spam filter's rule set (SpamAssassin's body/describe/score lines) describes spam, it is not spam"

  strings:
    $d_viagra   = "viagra" nocase
    $d_cialis   = "cialis" nocase
    $d_levitra  = "levitra" nocase
    $l_pharmacy = "canadian pharmacy" nocase
    $l_rx       = "without prescription" nocase
    $l_rx2      = "no prescription" nocase
    $l_pfizer   = "pfizer" nocase
    $l_pills    = "generic pills" nocase

    $sa_rule    = /\n(lang[ \t]+[A-Za-z_]{2,8}[ \t]+)?(body|rawbody|header|uri|full|meta|describe|score|tflags)[ \t]+[A-Z][A-Z0-9_]{2,}[ \t]/

  condition:
    2 of ($d_*) and any of ($l_*) and #sa_rule < 3
}
