// User rule sample for tests: matches every "a"; used for the per-rule cap and engine limit.
rule every_a {
  strings:
    $a = "a"
  condition:
    $a
}
