# The disk layout, shared by build.sh, set-config.sh and the tests (docs/image.md describes it).
# /data holds a downloading firmware bundle besides the config and state: 256 MiB keeps a bundle
# several times the size of today's (~50-60 MB) resumable after a power cut (docs/firmware.md).
# MBR partitions, all MiB-aligned:  1 boot (FAT32, EFI system partition, bootable flag)
#                                   2 root slot A (squashfs)   3 root slot B (squashfs)
#                                   4 persistent data (ext4, label $DATA_LABEL)
BOOT_MIB=64
SLOT_MIB=128
DATA_MIB=256
DATA_LABEL=dmvpn-data
