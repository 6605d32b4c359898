#!/usr/bin/env python3
# "GRUB and the kernel" for a namespace test's spoke (test/integration-firmware-push.test.ts): run as
# the spoke's DMVPN_RELOAD_COMMAND, it does what the box's reboot does for the updater. As GRUB's
# boot selector (rootfs/files/grub.cfg): boot try_slot once and clear it (with grub-editenv, GRUB's
# own tool for the block), else boot slot. As the booted root: its version is what the slot's root
# says (the test's roots begin with "DMVPN-ROOT version=X\n"), written where dmvpnd reads
# /etc/dmvpn-version and /run/dmvpn/slot from.
import os, re, subprocess, sys

box = sys.argv[1]
env = os.path.join(box, 'boot/grub/grubenv')


def choose():
    # GRUB's own tool reads and edits the block (grub-common): what our updater wrote must be a block
    # GRUB takes, and what GRUB leaves (try_slot unset) is what our updater reads back
    listed = subprocess.run(['grub-editenv', env, 'list'], check=True, capture_output=True, text=True).stdout
    vars = dict(l.split('=', 1) for l in listed.splitlines() if '=' in l)
    slot = vars.get('slot', 'A')
    if 'try_slot' in vars:
        slot = vars['try_slot']
        subprocess.run(['grub-editenv', env, 'unset', 'try_slot'], check=True)
    return slot


# a root marked "broken" panics at boot: the hardware watchdog resets the box and GRUB chooses again
# (try_slot is gone by then, so the known-good slot boots)
for boot in range(3):
    slot = choose()
    head = open(os.path.join(box, f'slot{slot}.img'), 'rb').read(64)
    m = re.match(rb'DMVPN-ROOT version=([0-9.]+)( broken)?\n', head)
    if m and m.group(2):
        print(f'fw-grub-boot: {box}: slot {slot} panics at boot: reset', file=sys.stderr)
        continue
    break
open(os.path.join(box, 'version'), 'w').write(m.group(1).decode() if m else 'unbootable')
open(os.path.join(box, 'slot'), 'w').write(slot)
print(f'fw-grub-boot: {box}: booting slot {slot}', file=sys.stderr)
