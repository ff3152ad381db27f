// User rule sample for tests (seized project, Apache-2.0). Same rule name as a
// shipped-style name would be legal: each file has its own namespace.
rule user_marker {
  strings:
    $m = "SEIZED-MARKER-7f3a"
  condition:
    $m
}

rule user_condition_only {
  condition:
    filesize == 17
}
