# The disk layout, shared by build.sh, set-config.sh and the tests (docs/image.md describes it).
# MBR partitions, all MiB-aligned:  1 boot (FAT32, EFI system partition, bootable flag)
#                                   2 root slot A (squashfs)   3 root slot B (squashfs)
#                                   4 persistent data (ext4, label $DATA_LABEL)
BOOT_MIB=64
SLOT_MIB=128
DATA_MIB=64
DATA_LABEL=dmvpn-data
