/* ref: image references as the CLI takes them, parsed into parts (pure, no I/O).
 * docker://[REGISTRY/]REPO[:TAG][@DIGEST] with Docker Hub defaults (docker.io, library/, latest),
 * oci:DIR[:TAG], oci-archive:FILE[:TAG] and docker-archive:FILE[:N|:REF]
 * (containers-transports(5)). */
#ifndef FERRY_REF_REF_H
#define FERRY_REF_REF_H

struct fy_error;

enum fy_ref_kind {
	FY_REF_DOCKER = 1,
	FY_REF_OCI,
	FY_REF_OCI_ARCHIVE,
	FY_REF_DOCKER_ARCHIVE,
};

/* All strings are owned; NULL when absent. */
struct fy_ref {
	enum fy_ref_kind kind;
	/* docker: */
	char *registry; /* as named, normalised: "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *endpoint; /* host[:port] to contact: "registry-1.docker.io" for docker.io */
	char *repo;     /* "library/busybox" */
	char *tag;      /* "latest" unless a digest alone was given */
	char *digest;   /* "sha256:<64 hex>" */
	/* oci, oci-archive, docker-archive: */
	char *path;
	char *name; /* oci tag (ref.name annotation), docker-archive reference */
	int index;  /* docker-archive :N (or :@N), -1 when not given */
};

/* Parse s; on failure ref is left empty and err says what is wrong with which part. */
int fy_ref_parse(const char *s, struct fy_ref *ref, struct fy_error *err);
void fy_ref_release(struct fy_ref *ref);
/* The canonical form: "docker://docker.io/library/busybox:latest[@sha256:...]", "oci:DIR:TAG".
 * NULL on allocation failure. */
char *fy_ref_string(const struct fy_ref *ref);
/* "sha256:" and 64 lowercase hex digits. */
int fy_ref_digest_valid(const char *digest);

#endif
