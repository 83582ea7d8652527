/* options_help: the help texts and the "did you mean" suggestions. */
#include "cli/options.h"
#include "cli/options_int.h"

#include <stdint.h>
#include <string.h>

/* ---- suggestions ("did you mean") ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/* The closest candidate within two edits (one for very short words), or NULL. */
const char *fy_options_help_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = strlen(word) <= 3 ? 2 : 3;

	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!cands[i])
			continue;
		d = edit_distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}
/* Apptainer options ferry does not take, and why (in ferry(1), APPTAINER COMPATIBILITY). */
static const struct {
	const char *lng;
	char shrt;
	const char *why;
} refusals[] = {
        {"nvccli", 0, "use --nv (ferry reads the driver itself, no nvidia-container-cli)"},
        {"rocm", 0, "GPU support is not available yet"},
        {"writable", 'w', "images are read-only: use --writable-tmpfs or --overlay DIR"},
        {"add-caps", 0, "ferry grants no capabilities"},
        {"drop-caps", 0, "ferry grants no capabilities"},
        {"keep-privs", 0, "ferry grants no privileges"},
        {"no-privs", 0, "ferry grants no privileges (the container never has any)"},
        {"allow-setuid", 0, "ferry grants no privileges (setuid never works inside)"},
        {"security", 0, "ferry sets no SELinux, AppArmor or seccomp profiles"},
        {"boot", 0, "ferry does not boot an init system"},
        {"apply-cgroups", 0, "resource limits come from the batch system"},
        {"cpus", 0, "resource limits come from the batch system"},
        {"cpu-shares", 0, "resource limits come from the batch system"},
        {"cpuset-cpus", 0, "resource limits come from the batch system"},
        {"memory", 0, "resource limits come from the batch system"},
        {"memory-swap", 0, "resource limits come from the batch system"},
        {"pids-limit", 0, "resource limits come from the batch system"},
        {"network-args", 0, "ferry sets up no networks (only --network none)"},
        {"dns", 0, "ferry sets up no networks; /etc/resolv.conf is the host's"},
        {"no-https", 0, "use --insecure"},
        {"docker-login", 0, "use --creds USER:PASS or FERRY_REGISTRY_USER"},
        {"pem-path", 0, "encrypted images are not supported"},
        {"passphrase", 0, "encrypted images are not supported"},
        {"sif-fuse", 0, "ferry always mounts images with its own FUSE server"},
};

const char *fy_options_help_refusal(const char *lng, size_t len, char shrt)
{
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (lng ? strlen(refusals[i].lng) == len && !strncmp(refusals[i].lng, lng, len)
		        : shrt && refusals[i].shrt == shrt)
			return refusals[i].why;
	return NULL;
}

/* ---- help texts: keep in step with doc/ferry.1 ---- */

#define CONTAINER_OPTIONS                                                                          \
	"Options (each also settable as FERRY_<OPTION>: FERRY_BIND=/data, FERRY_PID=1):\n"         \
	"  -B, --bind SRC[:DST[:ro|rw]]  bind host SRC at DST (repeatable; comma lists)\n"         \
	"      --mount type=bind,src=SRC,dst=DST[,ro] | type=tmpfs,dst=DST\n"                      \
	"                                bind or scratch tmpfs, key=value form (repeatable)\n"     \
	"      --pwd DIR                 start in DIR inside the container\n"                      \
	"  -H, --home SRC[:DST]          use host SRC as the home directory (at DST)\n"            \
	"      --no-home                 do not mount the home directory\n"                        \
	"  -c, --contain                 minimal /dev, private /tmp, no host home or cwd\n"        \
	"  -C, --containall              --contain, --cleanenv, --pid and private IPC\n"           \
	"  -e, --cleanenv                drop the host environment (but TERM, LANG, ...)\n"        \
	"      --env NAME=VALUE[,N=V]    set variables inside (repeatable; a comma starts a\n"     \
	"                                new entry only before NAME=)\n"                           \
	"      --env-file FILE           read NAME=VALUE lines from FILE (repeatable)\n"           \
	"      --writable-tmpfs          writable root; changes live in memory\n"                  \
	"  -o, --overlay DIR             writable root; changes kept in DIR (upper, work)\n"       \
	"  -S, --scratch DIR[,DIR]       an empty, private directory at DIR (repeatable)\n"        \
	"  -W, --workdir DIR             keep -S and --contain's /tmp, /var/tmp in host DIR\n"     \
	"      --no-mount NAME[,NAME]    leave out home, cwd, tmp, hostfiles, bind-paths or a\n"   \
	"                                site bind's /DST\n"                                       \
	"      --hostname NAME           set the hostname (new UTS namespace)\n"                   \
	"      --uts                     new UTS namespace\n"                                      \
	"  -i, --ipc                     new IPC namespace\n"                                      \
	"  -p, --pid                     new PID namespace\n"                                      \
	"  -n, --net=none, --network none\n"                                                       \
	"                                no network but loopback (Apptainer's '--net\n"            \
	"                                --network none' works too)\n"                             \
	"  -f, --fakeroot                appear as root (uid 0) inside (chown, setuid... faked)\n" \
	"  -u, --userns                  accepted: ferry always uses a user namespace\n"           \
	"      --app NAME                run an Apptainer app, /scif/apps/NAME\n"                  \
	"      --nv                      the host's NVIDIA GPUs, driver libraries and tools\n"     \
	"      --gpus all|none|LIST      with --nv: these GPUs only (indices, GPU-UUIDs); "        \
	"default\n"                                                                                \
	"                                CUDA_VISIBLE_DEVICES, then SLURM_STEP_GPUS, then all\n"   \
	"      --dry-run                 print the plan, do not run it\n"                          \
	"      --insecure                docker:// over plain HTTP\n"                              \
	"      --creds USER:PASS         registry credentials\n"                                   \
	"      --platform OS/ARCH[/VAR]  platform to pick from a multi-platform image\n"           \
	"  -v, --verbose, -q, --quiet, --debug\n"                                                  \
	"  -h, --help                    show this help\n"                                         \
	"\n"                                                                                       \
	"Apptainer's names work too (APPTAINER_BIND, APPTAINERENV_NAME); options that do\n"        \
	"not apply (--rocm, --writable...) are refused with the reason. See ferry(1).\n"           \
	"\n"                                                                                       \
	"IMAGE is a squashfs file, a SIF file, a directory, or a docker://, oci:,\n"               \
	"oci-archive: or docker-archive: source, pulled into the image cache first\n"              \
	"(see 'ferry pull --help').\n"                                                             \
	"Options end at IMAGE: what follows belongs to the container. See ferry(1).\n"

static const char help_top[] =
        "usage: ferry [--debug | -v | -q] COMMAND [ARGS]\n"
        "\n"
        "Run programs from container images, as yourself, without privileges.\n"
        "\n"
        "Commands:\n"
        "  exec      run a command in an image\n"
        "  run       run an image's entrypoint and command\n"
        "  shell     start an interactive shell in an image\n"
        "  pull      convert a registry, OCI layout or archive image into squashfs\n"
        "  inspect   show an image's format and configuration\n"
        "  images    list the image cache (the same as 'ferry cache list')\n"
        "  cache     list, prune or clean the image cache\n"
        "  version   print the version\n"
        "  help      show help for a command\n"
        "\n"
        "Global options:\n"
        "      --debug      trace start-up with timings\n"
        "  -v, --verbose    say more about what ferry does\n"
        "  -q, --quiet      print errors only\n"
        "  -h, --help       show this help\n"
        "      --version    print the version\n"
        "\n"
        "See 'ferry help COMMAND' or 'ferry COMMAND --help', and ferry(1).\n";

static const char help_exec[] = "usage: ferry exec [OPTIONS] IMAGE CMD [ARG...]\n"
                                "\n"
                                "Run CMD inside IMAGE.\n"
                                "\n" CONTAINER_OPTIONS;

static const char help_run[] = "usage: ferry run [OPTIONS] IMAGE [ARG...]\n"
                               "\n"
                               "Run the image's entrypoint and command; ARGs replace its command.\n"
                               "An image with Apptainer's /.singularity.d and no OCI config runs\n"
                               "/.singularity.d/runscript with the ARGs.\n"
                               "\n" CONTAINER_OPTIONS;

static const char help_shell[] =
        "usage: ferry shell [OPTIONS] IMAGE\n"
        "\n"
        "Start an interactive shell (/bin/bash, else /bin/sh) in IMAGE.\n"
        "\n"
        "  -s, --shell PATH              start PATH instead (FERRY_SHELL, APPTAINER_SHELL)\n"
        "\n" CONTAINER_OPTIONS;

static const char help_pull[] =
        "usage: ferry pull [OPTIONS] [FILE] SOURCE\n"
        "\n"
        "Fetch SOURCE (docker://[REGISTRY/]REPO[:TAG|@DIGEST], oci:DIR[:TAG],\n"
        "oci-archive:FILE[:TAG] or docker-archive:FILE[:N|:REF]; archives are uncompressed tar\n"
        "files, read in place) and convert it into a squashfs image. Without --dest the image\n"
        "goes to the image cache (reused when present; read-only site caches named by\n"
        "site_cache in ferry.conf are searched first); the image's path is printed on stdout.\n"
        "\n"
        "Options:\n"
        "      --dest FILE               write the image to FILE instead of the cache (also\n"
        "                                Apptainer's form: 'ferry pull FILE SOURCE')\n"
        "      --force                   convert again even if a cache has the image, and\n"
        "                                replace an existing --dest FILE\n"
        "      --insecure                plain HTTP to the registry (FERRY_INSECURE=1)\n"
        "      --creds USER:PASS         registry credentials (else FERRY_REGISTRY_USER and\n"
        "                                FERRY_REGISTRY_PASSWORD, auth.json, docker config)\n"
        "      --platform OS/ARCH[/VAR]  platform to pick from a multi-platform image\n"
        "      --compression ALGO        zstd (default), lz4, gzip or none\n"
        "      --level N                 compression level (zstd 1-22, gzip 1-9)\n"
        "      --block-size SIZE         squashfs block size, 4K to 1M (default 128K)\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "                                -v, --debug: end with where the time went (stderr)\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Cache: $FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry. See ferry(1).\n";

static const char help_inspect[] =
        "usage: ferry inspect [--json | --labels | --runscript | --deffile] IMAGE\n"
        "\n"
        "Show IMAGE's kind, path, size and compression, and the source, manifest digest and\n"
        "OCI configuration that ferry pull stored in it, or the Apptainer labels, runscript\n"
        "and apps of an image with /.singularity.d.\n"
        "\n"
        "Options:\n"
        "      --json                    print one JSON object\n"
        "      --labels                  print the labels as KEY: VALUE lines (--json: object)\n"
        "      --runscript               print /.singularity.d/runscript\n"
        "      --deffile                 print the definition file the image was built from\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "  -h, --help                    show this help\n";

static const char help_images[] =
        "usage: ferry images [--json]\n"
        "\n"
        "List the images in the image cache, most recently used first: size, last use (pull,\n"
        "reuse or run), source, manifest digest, cache (user, or site for a read-only site\n"
        "cache from ferry.conf) and path, then the totals. The same as 'ferry cache list'.\n"
        "\n"
        "Options:\n"
        "      --json                    print one JSON array, one object per image\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Cache: $FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry.\n";

static const char help_cache[] =
        "usage: ferry cache list [--json]\n"
        "       ferry cache prune --max-size SIZE [--blobs]\n"
        "       ferry cache clean\n"
        "\n"
        "Manage the image cache that ferry pull fills.\n"
        "  list    list cached images (see 'ferry images --help')\n"
        "  prune   remove least recently used images until the images take at most SIZE\n"
        "  clean   remove every image and every cached blob\n"
        "Images in use by a running ferry exec, run or shell are never removed: prune and\n"
        "clean skip them and say so. Read-only site caches (site_cache) are never touched.\n"
        "\n"
        "Options:\n"
        "      --json                    list: print one JSON array\n"
        "      --max-size SIZE           prune: bytes, or with a K, M, G or T suffix (powers of\n"
        "                                1024): 500M, 10G; 0 removes every image not in use\n"
        "      --blobs                   prune: also remove every cached blob (layers are\n"
        "                                only needed to convert again; pull fetches them anew)\n"
        "  -v, --verbose, -q, --quiet, --debug\n"
        "  -h, --help                    show this help\n"
        "\n"
        "Cache: $FERRY_CACHEDIR, else $XDG_CACHE_HOME/ferry, else ~/.cache/ferry. See ferry(1).\n";

static const char help_version[] = "usage: ferry version\n"
                                   "\n"
                                   "Print ferry's version.\n";

static const char help_help[] = "usage: ferry help [COMMAND]\n"
                                "\n"
                                "Show help for COMMAND, or the list of commands.\n";

const char *fy_options_help(enum fy_cmd cmd)
{
	switch (cmd) {
	case FY_CMD_EXEC:
		return help_exec;
	case FY_CMD_RUN:
		return help_run;
	case FY_CMD_SHELL:
		return help_shell;
	case FY_CMD_VERSION:
		return help_version;
	case FY_CMD_HELP:
		return help_help;
	case FY_CMD_PULL:
		return help_pull;
	case FY_CMD_INSPECT:
		return help_inspect;
	case FY_CMD_IMAGES:
		return help_images;
	case FY_CMD_CACHE:
		return help_cache;
	case FY_CMD_NONE:
		break;
	}
	return help_top;
}
