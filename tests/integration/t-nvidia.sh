#!/bin/bash
# t-nvidia: --nv and --gpus without CDI, on a fake NVIDIA host tree (FERRY_SYSROOT): 8 GPUs,
# device nodes made with mknod as copies of /dev/null, a driver library set and an ld.so.cache
# made by ldconfig. Only the selected GPUs' nodes show, CUDA_VISIBLE_DEVICES is renumbered, only
# libraries of our ELF class and the driver's version are bound.
. "$(dirname "$0")/lib.sh"
fy_init

FAKE=$DATA/sysroot
VER=535.104.05
LIB=$FAKE/usr/lib/x86_64-linux-gnu
mkdir -p "$FAKE/proc/driver/nvidia/gpus" "$FAKE/dev/nvidia-caps" "$FAKE/etc" "$LIB" \
	"$FAKE/usr/lib/i386-linux-gnu" "$FAKE/usr/bin" || fy_die "cannot make the fake tree"
printf 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  Sat Aug 19 01:13:19 UTC 2023\nGCC version:  gcc version 12.2.0\n' \
	"$VER" >"$FAKE/proc/driver/nvidia/version"
for i in 0 1 2 3 4 5 6 7; do
	b=0000:0$((i + 1)):00.0
	mkdir -p "$FAKE/proc/driver/nvidia/gpus/$b"
	printf 'Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 1%d\nGPU UUID: \t GPU-0000000%d-aaaa-bbbb-cccc-dddddddddddd\nVideo BIOS: \t 96.00.74.00.01\nBus Type: \t PCIe\nDMA Size: \t 52 bits\nBus Location: \t %s\nDevice Minor: \t %d\n' \
		"$i" "$i" "$b" "$i" >"$FAKE/proc/driver/nvidia/gpus/$b/information"
	mknod -m 666 "$FAKE/dev/nvidia$i" c 1 3 || fy_die "mknod failed"
done
for n in nvidiactl nvidia-uvm nvidia-uvm-tools nvidia-modeset nvidia-caps/nvidia-cap1; do
	mknod -m 666 "$FAKE/dev/$n" c 1 3 || fy_die "mknod failed"
done
# Driver libraries: real x86-64 shared objects with the driver's sonames; one of another
# driver version, one whose ELF class byte says 32-bit.
echo 'int fy_fake(void) { return 0; }' >"$DATA/fake.c"
mk() { gcc -shared -fPIC -Wl,-soname,"$1" -o "$2" "$DATA/fake.c" || fy_die "gcc failed"; }
mk libcuda.so.1 "$LIB/libcuda.so.$VER"
mk libnvidia-ml.so.1 "$LIB/libnvidia-ml.so.$VER"
mk libnvidia-ptxjitcompiler.so.1 "$LIB/libnvidia-ptxjitcompiler.so.530.30.02"
mk libnvidia-nvvm.so.4 "$FAKE/usr/lib/i386-linux-gnu/libnvidia-nvvm.so.$VER"
printf '%s\n' /usr/lib/x86_64-linux-gnu /usr/lib/i386-linux-gnu >"$FAKE/etc/ld.so.conf"
ldconfig -r "$FAKE" -C /etc/ld.so.cache -f /etc/ld.so.conf || fy_die "ldconfig failed"
# After ldconfig, so that the cache still lists it: now a 32-bit ELF by its class byte.
printf '\001' | dd of="$FAKE/usr/lib/i386-linux-gnu/libnvidia-nvvm.so.$VER" bs=1 seek=4 conv=notrunc 2>/dev/null
printf '#!/bin/sh\necho fake nvidia-smi\n' >"$FAKE/usr/bin/nvidia-smi"
chmod -R a+rX "$FAKE"
chmod 755 "$FAKE/usr/bin/nvidia-smi"
cp "$FERRY_SRCDIR/conf/nvidia-libs.conf" "$DATA/nvidia-libs.conf"
: >"$DATA/ferry.conf"
chmod a+r "$DATA/ferry.conf" "$DATA/nvidia-libs.conf"
ENV0=("FERRY_CONF=$DATA/ferry.conf" "FERRY_SYSROOT=$FAKE")

gpu_nodes() { printf '%s\n' "$OUT" | grep -E '^nvidia[0-9]+$' | tr '\n' ' '; }

t_one_gpu() {
	FY_ENV=("${ENV0[@]}")
	fy exec --nv --gpus 3 "$IMG" ls /dev
	expect_rc 0
	[ "$(gpu_nodes)" = "nvidia3 " ] || fail "GPU nodes: '$(gpu_nodes)', expected nvidia3 only"
	expect_out_has nvidiactl
	expect_out_has nvidia-uvm
	fy exec --nv --gpus 3 "$IMG" sh -c 'echo $CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER $NVIDIA_VISIBLE_DEVICES; ls /dev/nvidia-caps'
	expect_rc 0
	expect_out "0 PCI_BUS_ID GPU-00000003-aaaa-bbbb-cccc-dddddddddddd
nvidia-cap1"
}
check "--nv --gpus 3 shows only nvidia3 and CUDA_VISIBLE_DEVICES=0" t_one_gpu

t_cuda_env() {
	FY_ENV=("${ENV0[@]}" CUDA_VISIBLE_DEVICES=2,5)
	fy exec --nv "$IMG" sh -c 'ls /dev; echo CVD=$CUDA_VISIBLE_DEVICES'
	expect_rc 0
	[ "$(gpu_nodes)" = "nvidia2 nvidia5 " ] || fail "GPU nodes: '$(gpu_nodes)'"
	expect_out_has CVD=0,1
}
check "host CUDA_VISIBLE_DEVICES=2,5 gives nvidia2, nvidia5 and 0,1 inside" t_cuda_env

t_slurm() {
	FY_ENV=("${ENV0[@]}" SLURM_STEP_GPUS=4 SLURM_JOB_GPUS=0,4,6)
	fy exec --nv "$IMG" sh -c 'ls /dev; echo CVD=$CUDA_VISIBLE_DEVICES'
	expect_rc 0
	[ "$(gpu_nodes)" = "nvidia4 " ] || fail "GPU nodes: '$(gpu_nodes)'"
	expect_out_has CVD=0
	# Under ConstrainDevices CUDA_VISIBLE_DEVICES counts within Slurm's GPUs.
	FY_ENV=("${ENV0[@]}" SLURM_STEP_GPUS=4,6 CUDA_VISIBLE_DEVICES=1)
	fy exec --nv "$IMG" ls /dev
	expect_rc 0
	[ "$(gpu_nodes)" = "nvidia6 " ] || fail "local index: GPU nodes '$(gpu_nodes)'"
}
check "SLURM_STEP_GPUS (global) and CUDA_VISIBLE_DEVICES (local) under Slurm" t_slurm

t_all_uuid() {
	FY_ENV=("${ENV0[@]}")
	fy exec --nv "$IMG" ls /dev
	expect_rc 0
	[ "$(gpu_nodes)" = "nvidia0 nvidia1 nvidia2 nvidia3 nvidia4 nvidia5 nvidia6 nvidia7 " ] ||
		fail "all: '$(gpu_nodes)'"
	fy exec --nv --gpus GPU-00000007 "$IMG" ls /dev
	expect_rc 0
	[ "$(gpu_nodes)" = "nvidia7 " ] || fail "UUID: '$(gpu_nodes)'"
	fy exec --nv --gpus none "$IMG" ls /dev
	expect_rc 0
	[ "$(gpu_nodes)" = "" ] || fail "none: '$(gpu_nodes)'"
}
check "--nv alone shows all 8; --gpus GPU-UUID prefix; --gpus none" t_all_uuid

t_libs() {
	FY_ENV=("${ENV0[@]}" LD_LIBRARY_PATH=/opt/x)
	fy exec --nv --gpus 0 --env LD_LIBRARY_PATH=/img/lib "$IMG" sh -c \
		'ls /.ferry/nvidia/lib; echo LD=$LD_LIBRARY_PATH; echo P=$PATH; nvidia-smi'
	expect_rc 0
	expect_out_has libcuda.so.1
	expect_out_has libnvidia-ml.so.1
	expect_out_lacks ptxjitcompiler
	expect_out_lacks nvvm
	expect_out_has LD=/img/lib:/.ferry/nvidia/lib
	expect_out_re 'P=.*:/.ferry/nvidia/bin$'
	expect_out_has 'fake nvidia-smi'
	fy exec --nv --gpus 0 "$IMG" sh -c 'echo x >/.ferry/nvidia/lib/libcuda.so.1'
	[ "$RC" != 0 ] || fail "the library directory is writable"
	cmp -s "$LIB/libcuda.so.$VER" "$DATA/fake.c" && fail "host library changed"
	:
}
check "libraries of the driver's version and our ELF class only, after the image's path" t_libs

t_bad() {
	FY_ENV=("${ENV0[@]}")
	fy exec --nv --gpus 9 "$IMG" true
	expect_error 2 "--gpus" "'9'"
	fy exec --nv --gpus foo "$IMG" true
	expect_error 2 "--gpus" "foo"
	FY_ENV=("${ENV0[@]}" CUDA_VISIBLE_DEVICES=12)
	fy exec --nv "$IMG" true
	expect_error 2 CUDA_VISIBLE_DEVICES
	FY_ENV=("FERRY_CONF=$DATA/ferry.conf" "FERRY_SYSROOT=$DATA/none")
	fy exec --nv "$IMG" true
	expect_error 5 "NVIDIA driver"
}
check "bad --gpus, CUDA_VISIBLE_DEVICES or no driver: one clear line" t_bad

t_dry() {
	FY_ENV=("${ENV0[@]}")
	fy exec --dry-run --nv --gpus 1 "$IMG" true
	expect_rc 0
	expect_out_has "mount: dev   /dev (nvidia)"
	expect_out_has "/dev/nvidia1 <- $FAKE/dev/nvidia1"
	expect_out_lacks "/dev/nvidia2"
	expect_out_has "/.ferry/nvidia/lib/libcuda.so.1 <- $LIB/libcuda.so.$VER ro"
	expect_out_has "env: CUDA_VISIBLE_DEVICES=0"
}
check "--dry-run shows the device plan" t_dry

fy_done
