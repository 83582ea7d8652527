/* fy-fetch: pull an image reference into the blob cache with image/registry, for
 * tests/registry/pull.sh. Prints one line per finished blob and a summary; errors go to
 * stderr with exit status 1.
 * Usage: fy-fetch [--creds U:P] [--insecure] [--platform OS/ARCH[/V]] [--cache DIR]
 *        [--parallel N] [--rate BYTES_PER_S] [--retries N] [--backoff MS] [--certs-dir DIR] REF */
#include "base/error.h"
#include "image/registry/ref.h"
#include "image/registry/regenv.h"
#include "image/registry/registry.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* environ */

static void progress(void *ctx, const struct fy_reg_progress *p)
{
	const struct fy_bc_progress *b = p->blob;

	(void)ctx;
	if (b->event == FY_BC_START && b->resumed_from)
		printf("resume %s from %llu\n", b->digest, (unsigned long long)b->resumed_from);
	if (b->event == FY_BC_DONE)
		printf("blob %zu/%zu %s %llu %s resumes=%u\n", p->index + 1, p->count, b->digest,
		       (unsigned long long)b->total, b->reused ? "reused" : "fetched", b->resumes);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	        {"creds", required_argument, NULL, 'c'},
	        {"insecure", no_argument, NULL, 'k'},
	        {"platform", required_argument, NULL, 'p'},
	        {"cache", required_argument, NULL, 'C'},
	        {"parallel", required_argument, NULL, 'j'},
	        {"rate", required_argument, NULL, 'r'},
	        {"retries", required_argument, NULL, 'R'},
	        {"backoff", required_argument, NULL, 'b'},
	        {"certs-dir", required_argument, NULL, 'd'},
	        {NULL, 0, NULL, 0},
	};
	const char *certs[2] = {NULL, NULL};
	struct fy_reg_env env;
	struct fy_reg_opts o = {.progress = progress, .env = &env};
	struct fy_error err = {0};
	struct fy_cv_image img;
	struct fy_ref ref;
	int c;

	/* The environment's cache directory, credentials and certs.d, as ferry-pull passes them. */
	fy_regenv_reg_env_from(&env, environ);
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.creds = optarg;
			break;
		case 'k':
			o.insecure = 1;
			break;
		case 'p':
			o.platform = optarg;
			break;
		case 'C':
			o.cachedir = optarg;
			break;
		case 'j':
			o.parallel = (unsigned)atoi(optarg);
			break;
		case 'r':
			o.max_recv_speed = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			o.retries = (unsigned)atoi(optarg);
			break;
		case 'b':
			o.backoff_ms = (unsigned)atoi(optarg);
			break;
		case 'd':
			certs[0] = optarg;
			o.certs_dirs = certs;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: fy-fetch [options] REF\n");
		return 2;
	}
	if (fy_ref_parse(argv[optind], &ref, &err) < 0 ||
	    fy_registry_load(&ref, &o, &img, &err) < 0) {
		fprintf(stderr, "fy-fetch: %s\n", err.msg);
		fy_ref_release(&ref);
		return 1;
	}
	printf("source %s\nmanifest %s\nlayers %zu\nconfig %zu bytes\n", img.source,
	       img.manifest_digest, img.nlayers, img.config_len);
	for (size_t i = 0; i < img.nlayers; i++)
		printf("layer %zu %s %llu %s\n", i, img.layers[i].digest,
		       (unsigned long long)img.layers[i].size, img.layers[i].media_type);
	fy_convert_image_release(&img);
	fy_ref_release(&ref);
	return 0;
}
