// User rule sample for tests: fires only by path, using the filepath/extension externals.
rule user_torrc_by_path {
  condition:
    filepath matches /\/etc\/tor\/torrc$/ and extension == ""
}
