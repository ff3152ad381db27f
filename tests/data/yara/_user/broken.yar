// User rule sample for tests: the rule ending on line 9 has a syntax error on purpose.
rule fine {
  condition:
    true
}

rule broken {
  strings: $a = "x" condition: $a and
}
