// User rule sample for tests: a condition loop over every byte, slow on purpose (timeout path).
rule slow_loop {
  condition:
    for any i in (0..filesize - 4) : ( uint32(i) == 0x01020304 and uint32(i + 1) == 0x05060708 )
}
