# libFuzzer harnesses (tests/fuzz/): built with clang, apart from the gcc build, by explicit
# rules (not automake programs) that compile the few library sources each parser needs straight
# into the fuzzer with ASan and UBSan. `make fuzz` builds them; tests/fuzz/run.sh builds and
# runs them (in `make check` for FUZZ_SECONDS each). Needs clang and libclang-rt-14-dev.
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-D_GNU_SOURCE -I$(srcdir)/launcher -I$(srcdir) \
	$(JANSSON_CFLAGS)

fuzz_targets = imgcfg manifest auth ref merge sqfs_sb sif oci_spec sqfuse
fuzz_programs = $(fuzz_targets:%=tests/fuzz/fuzz_%)
fuzz_tests = tests/fuzz/run.sh

# Library sources per harness: the parser and what it links against, nothing with I/O
# back ends (imgcfg's image reader is stubbed in the harness).
fuzz_base = $(srcdir)/launcher/base/error.c
fuzz_imgcfg_src = $(srcdir)/image/imgcfg.c $(srcdir)/launcher/base/strv.c $(fuzz_base)
fuzz_imgcfg_libs = $(JANSSON_LIBS)
fuzz_manifest_src = $(srcdir)/image/registry/manifest.c $(srcdir)/image/registry/ref.c \
	$(srcdir)/launcher/base/fsutil.c $(fuzz_base)
fuzz_manifest_libs = $(JANSSON_LIBS)
fuzz_auth_src = $(srcdir)/image/registry/auth.c $(srcdir)/launcher/base/fsutil.c $(fuzz_base)
fuzz_auth_libs = $(JANSSON_LIBS) $(CRYPTO_LIBS)
fuzz_ref_src = $(srcdir)/image/registry/ref.c $(srcdir)/launcher/base/fsutil.c $(fuzz_base)
fuzz_merge_src = $(srcdir)/image/convert/merge.c $(srcdir)/image/convert/mergelink.c $(fuzz_base)
fuzz_sqfs_sb_src = $(srcdir)/image/sqfs_sb.c $(fuzz_base)
fuzz_sif_src = $(srcdir)/image/sif.c $(fuzz_base)
fuzz_oci_spec_src = $(srcdir)/launcher/oci/spec.c $(srcdir)/launcher/oci/specget.c \
	$(srcdir)/launcher/oci/specproc.c $(srcdir)/launcher/oci/speclinux.c \
	$(srcdir)/launcher/oci/ocidefs.c \
	$(srcdir)/launcher/base/strv.c $(srcdir)/launcher/base/fsutil.c $(fuzz_base)
fuzz_oci_spec_libs = $(JANSSON_LIBS)
# The FUSE server without libfuse: the harness replaces libfuse's request and reply functions.
fuzz_sqfuse_src = $(srcdir)/launcher/sqfuse/sqfuse.c $(srcdir)/launcher/sqfuse/sqfuse_ops.c \
	$(srcdir)/launcher/sqfuse/sqfuse_cache.c $(srcdir)/launcher/sqfuse/sqfuse_extra.c \
	$(srcdir)/launcher/sqfuse/sqfuse_dir.c $(srcdir)/launcher/sqfuse/sqfuse_xattr.c \
	$(srcdir)/image/sqfs_sb.c $(srcdir)/launcher/base/log.c $(fuzz_base)
fuzz_sqfuse_libs = $(SQUASHFUSE_LIBS) $(ZSTD_LIBS) $(ZLIB_LIBS) -lpthread

# One explicit rule per harness (portable make has no pattern rules for this).
tests/fuzz/fuzz_imgcfg: $(srcdir)/tests/fuzz/fuzz_imgcfg.c $(fuzz_imgcfg_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_imgcfg.c $(fuzz_imgcfg_src) $(fuzz_imgcfg_libs)
tests/fuzz/fuzz_manifest: $(srcdir)/tests/fuzz/fuzz_manifest.c $(fuzz_manifest_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_manifest.c $(fuzz_manifest_src) $(fuzz_manifest_libs)
tests/fuzz/fuzz_auth: $(srcdir)/tests/fuzz/fuzz_auth.c $(fuzz_auth_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_auth.c $(fuzz_auth_src) $(fuzz_auth_libs)
tests/fuzz/fuzz_ref: $(srcdir)/tests/fuzz/fuzz_ref.c $(fuzz_ref_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_ref.c $(fuzz_ref_src)
tests/fuzz/fuzz_merge: $(srcdir)/tests/fuzz/fuzz_merge.c $(fuzz_merge_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_merge.c $(fuzz_merge_src)
tests/fuzz/fuzz_sqfs_sb: $(srcdir)/tests/fuzz/fuzz_sqfs_sb.c $(fuzz_sqfs_sb_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_sqfs_sb.c $(fuzz_sqfs_sb_src)
tests/fuzz/fuzz_sif: $(srcdir)/tests/fuzz/fuzz_sif.c $(fuzz_sif_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_sif.c $(fuzz_sif_src)
tests/fuzz/fuzz_oci_spec: $(srcdir)/tests/fuzz/fuzz_oci_spec.c $(fuzz_oci_spec_src)
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_oci_spec.c $(fuzz_oci_spec_src) $(fuzz_oci_spec_libs)
tests/fuzz/fuzz_sqfuse: $(srcdir)/tests/fuzz/fuzz_sqfuse.c $(fuzz_sqfuse_src) \
		$(srcdir)/launcher/sqfuse/sqfuse_int.h $(srcdir)/launcher/sqfuse/sqfuse_cache.h \
		$(srcdir)/launcher/sqfuse/sqfuse_dir.h $(srcdir)/launcher/sqfuse/sqfuse_xattr.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) $(SQUASHFUSE_CFLAGS) $(FUSE3_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_sqfuse.c $(fuzz_sqfuse_src) $(fuzz_sqfuse_libs)

fuzz: $(fuzz_programs)
.PHONY: fuzz
# Built by this make (in parallel) before the test runs; run.sh rebuilds them when run by hand.
tests/fuzz/run.log: $(fuzz_programs)
CLEANFILES += $(fuzz_programs)
EXTRA_DIST += tests/fuzz
mostlyclean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/work
.PHONY: clean-fuzz
