// User rule sample for tests (seized project, Apache-2.0).
rule user_spam_word {
  meta:
    description = "test user rule: the word 'unsubscribe-now'"
  strings:
    $a = "unsubscribe-now"
  condition:
    $a
}
