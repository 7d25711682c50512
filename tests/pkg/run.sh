#!/bin/sh
# tests/pkg/run.sh: the packaging checks (CI phase "pkg"): `make deb`; lintian with no error and no
# warning; the packages' contents (dpkg-deb -c) and conffiles; the library's exported symbols; both
# man pages render without warnings and cover every command and key; the systemd units verify clean
# with a security exposure of 2.0 or lower (tests/pkg/units.sh). Then, where installing is allowed
# (CI=true or MCPGW_PKG_INSTALL=1, as root, with no mcpgw package installed before): dpkg -i of the
# three packages, `mcpgw check` on the shipped configuration, the installed units, a program built
# with `pkg-config --cflags --libs mcpgw`, a purge that removes /etc/mcpgw and the service's state
# and nothing of any user's, and the units under a real systemd (tests/pkg/nspawn.sh). Prints one
# line per check; exits 1 if any failed.
set -eu
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
DEB=$BUILD/deb
fails=0
pass() { echo "pkg: ok: $*"; }
fail() { echo "pkg: FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcpgw-pkg.XXXXXX")
installed=
# Installing needs root: as root, or through sudo where that works without a password (as
# scripts/install-deps.sh does).
if [ "$(id -u)" -eq 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
cleanup() {
	if [ -n "$installed" ]; then
		$SUDO dpkg --purge libmcpgw-dev libmcpgw0 mcpgw >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

version=$(sed -n 's/^#define MCPGW_VERSION "\(.*\)"/\1/p' gateway/util/version.h)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# ---- build -----------------------------------------------------------------------------------
make -s "BUILD=$BUILD" "$BUILD/mcpgw"
if make -s "BUILD=$BUILD" deb > "$tmp/deb.log" 2>&1; then
	pass "make deb"
else
	tail -40 "$tmp/deb.log"; fail "make deb"; exit 1
fi
# No compiler warning in the package build either (it uses dpkg-buildflags, not WERROR).
if grep -E ': warning: ' "$tmp/deb.log"; then fail "compiler warnings in the package build"; else pass "package build without compiler warnings"; fi
for p in mcpgw libmcpgw0 libmcpgw-dev; do
	f=$DEB/${p}_${version}_${arch}.deb
	[ -f "$f" ] || { fail "$f missing"; exit 1; }
	echo "pkg: $(basename "$f"): $(stat -c %s "$f") bytes, installed $(dpkg-deb -f "$f" Installed-Size) KiB"
done

# ---- lintian ---------------------------------------------------------------------------------
lintian --pedantic --display-info "$DEB/mcpgw_${version}_${arch}.changes" > "$tmp/lintian.txt" 2>&1 || true
grep -v '^N:\|running with root privileges' "$tmp/lintian.txt" | sed 's/^/    lintian: /'
if grep -q '^[EW]: ' "$tmp/lintian.txt"; then fail "lintian: errors or warnings"; else pass "lintian: no error, no warning"; fi

# ---- contents --------------------------------------------------------------------------------
contents() { dpkg-deb -c "$DEB/${1}_${version}_${arch}.deb" | awk '{ print $6 }' | sed 's|^\./|/|'; }
expect() {	# PACKAGE PATH...
	p=$1; shift
	contents "$p" > "$tmp/c.$p"
	for f in "$@"; do
		grep -qx "$f" "$tmp/c.$p" || fail "$p lacks $f"
	done
}
expect mcpgw /usr/bin/mcpgw /etc/mcpgw/config.yaml /etc/mcpgw/policy.d/ /usr/lib/mcpgw/plugins/hmac-signature.so \
	/lib/systemd/system/mcpgw.service /lib/systemd/system/mcpgw.socket \
	/usr/lib/systemd/user/mcpgw.service /usr/lib/systemd/user/mcpgw.socket /usr/lib/sysusers.d/mcpgw.conf \
	/usr/share/man/man1/mcpgw.1.gz /usr/share/man/man5/mcpgw.yaml.5.gz /usr/share/doc/mcpgw/copyright \
	/usr/share/doc/mcpgw/service.md /usr/share/bash-completion/completions/mcpgw \
	/usr/share/zsh/vendor-completions/_mcpgw /usr/share/mcpgw/mcpgw.schema.json
expect libmcpgw0 "/usr/lib/$multiarch/libmcpgw.so.0"
expect libmcpgw-dev /usr/include/mcpgw/mcpgw.h /usr/include/mcpgw/plugin.h "/usr/lib/$multiarch/libmcpgw.a" \
	"/usr/lib/$multiarch/libmcpgw.so" "/usr/lib/$multiarch/pkgconfig/mcpgw.pc"
# Nothing outside the FHS places a package may use, no library in the program's package.
if cat "$tmp"/c.* | grep -v -E '^/(usr/(bin|lib|include|share)|lib/systemd|etc/mcpgw)(/|$)|^/(usr|lib|etc)?/?$'; then
	fail "files outside the expected directories"
fi
dpkg-deb --ctrl-tarfile "$DEB/mcpgw_${version}_${arch}.deb" | tar -xOf - ./conffiles > "$tmp/conffiles"
if [ "$(sort "$tmp/conffiles" | tr '\n' ' ')" = "/etc/mcpgw/config.yaml /etc/mcpgw/policy.d/README " ]; then
	pass "conffiles: $(tr '\n' ' ' < "$tmp/conffiles")"
else
	fail "conffiles: $(cat "$tmp/conffiles")"
fi
[ "$fails" -eq 0 ] && pass "dpkg-deb -c: every expected file, nothing elsewhere"

# The shared library exports the public API only (<mcpgw/mcpgw.h>), versioned.
mkdir -p "$tmp/lib"
dpkg-deb -x "$DEB/libmcpgw0_${version}_${arch}.deb" "$tmp/lib"
nm -D --defined-only "$tmp/lib/usr/lib/$multiarch/libmcpgw.so.0" | awk '{ print $3 }' > "$tmp/syms"
if grep -v -E '^(mcpgw_[a-z_]+@@MCPGW_0|MCPGW_0)$' "$tmp/syms"; then
	fail "libmcpgw.so.0 exports more than the public API"
else
	pass "libmcpgw.so.0 exports $(wc -l < "$tmp/syms") symbols, all mcpgw_* (MCPGW_0); soname $(objdump -p "$tmp/lib/usr/lib/$multiarch/libmcpgw.so.0" | awk '/SONAME/ { print $2 }')"
fi

# ---- man pages -------------------------------------------------------------------------------
mkdir -p "$tmp/pkg"
dpkg-deb -x "$DEB/mcpgw_${version}_${arch}.deb" "$tmp/pkg"
for m in man1/mcpgw.1.gz man5/mcpgw.yaml.5.gz; do
	page=$tmp/pkg/usr/share/man/$m
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >"$tmp/$(basename "$m").txt") || true
	if [ -n "$warn" ] || [ ! -s "$tmp/$(basename "$m").txt" ]; then
		fail "man --warnings -l $m: ${warn:-empty}"
	else
		pass "man --warnings -l $m: no warning ($(wc -l < "$tmp/$(basename "$m").txt") lines)"
	fi
done
# mcpgw(1) names every command `mcpgw --help` lists, and every option of the usage lines.
missing=
for c in $("$BUILD/mcpgw" --help | sed -n 's/^  mcpgw \([a-z]*\) .*/\1/p'); do
	grep -q "^ *mcpgw $c\b\|^       $c\b" "$tmp/mcpgw.1.gz.txt" || missing="$missing $c"
done
for o in $("$BUILD/mcpgw" --help | grep -o -- '--[a-z-]*\|-[a-z]\b' | sort -u); do
	grep -q -- "$o" "$tmp/mcpgw.1.gz.txt" || missing="$missing $o"
done
if [ -n "$missing" ]; then fail "mcpgw(1) does not cover:$missing"; else pass "mcpgw(1) covers every command and option of mcpgw --help"; fi
# mcpgw.yaml(5) names every key of the configuration's JSON Schema.
keys=$(node -e '
const s = require(process.argv[1]); const keys = new Set();
(function walk(o) {
  if (!o || typeof o !== "object") return;
  if (Array.isArray(o)) return o.forEach(walk);
  if (o.properties) for (const [k, v] of Object.entries(o.properties)) { keys.add(k); walk(v); }
  for (const [k, v] of Object.entries(o)) if (k !== "properties") walk(v);
})(s);
console.log([...keys].join(" "));' "$PWD/conf/mcpgw.schema.json")
missing=
for k in $keys; do
	grep -q "\b$k\b" "$tmp/mcpgw.yaml.5.gz.txt" || missing="$missing $k"
done
if [ -n "$missing" ]; then fail "mcpgw.yaml(5) lacks:$missing"; else pass "mcpgw.yaml(5) names all $(echo $keys | wc -w) keys of conf/mcpgw.schema.json"; fi

# ---- units -----------------------------------------------------------------------------------
if BIN=$BUILD/mcpgw sh tests/pkg/units.sh; then pass "units: verify clean, exposure at most 2.0"; else fail "units"; fi

# ---- install, use, purge ---------------------------------------------------------------------
if [ "${CI:-}" != "true" ] && [ "${MCPGW_PKG_INSTALL:-}" != 1 ]; then
	echo "pkg: skipped: dpkg -i and purge (set MCPGW_PKG_INSTALL=1, or CI=true, to install on this machine)"
elif [ "$SUDO" = none ]; then
	fail "dpkg -i needs root (or sudo without a password)"
elif dpkg-query -W -f='${Status}' mcpgw libmcpgw0 libmcpgw-dev 2>/dev/null | grep -q 'ok installed'; then
	fail "an mcpgw package is installed already: not touching it"
elif [ -e /etc/mcpgw ] || [ -e /var/lib/private/mcpgw ]; then
	fail "/etc/mcpgw or /var/lib/private/mcpgw exists already: not touching it"
else
	installed=1
	if $SUDO dpkg -i "$DEB/mcpgw_${version}_${arch}.deb" "$DEB/libmcpgw0_${version}_${arch}.deb" \
	    "$DEB/libmcpgw-dev_${version}_${arch}.deb" > "$tmp/dpkg.log" 2>&1; then
		pass "dpkg -i mcpgw libmcpgw0 libmcpgw-dev"
	else
		cat "$tmp/dpkg.log"; fail "dpkg -i"
	fi
	[ "$(/usr/bin/mcpgw version)" = "mcpgw $version" ] && pass "/usr/bin/mcpgw version: $version" || fail "/usr/bin/mcpgw version"
	if out=$(/usr/bin/mcpgw check -c /etc/mcpgw/config.yaml 2>&1); then
		pass "mcpgw check -c /etc/mcpgw/config.yaml (with the system policy of /etc/mcpgw): $out"
	else
		echo "$out"; fail "mcpgw check on the shipped configuration"
	fi
	getent group _mcpgw >/dev/null && pass "group _mcpgw (sysusers.d)" || fail "no group _mcpgw"
	if sh tests/pkg/units.sh --installed; then pass "installed units: verify clean"; else fail "installed units"; fi

	# A program built against the installed library, through pkg-config: shared, then static.
	cat > "$tmp/host.c" <<'EOC'
#include <stdio.h>
#include <string.h>
#include <mcpgw/mcpgw.h>
#include <mcpgw/plugin.h>
int main(void) { printf("%s\n", mcpgw_version()); return strlen(mcpgw_version()) ? 0 : 1; }
EOC
	if cc -Wall -Werror -o "$tmp/host" "$tmp/host.c" $(pkg-config --cflags --libs mcpgw) &&
	    [ "$("$tmp/host")" = "$version" ]; then
		pass "cc \$(pkg-config --cflags --libs mcpgw): builds, links libmcpgw.so.0, prints $version"
	else
		fail "a program built with pkg-config --cflags --libs mcpgw"
	fi
	if cc -Wall -Werror -o "$tmp/host-static" "$tmp/host.c" $(pkg-config --cflags mcpgw) \
	    -Wl,-Bstatic -lmcpgw -Wl,-Bdynamic $(pkg-config --static --libs mcpgw | sed 's/-lmcpgw\b//') &&
	    [ "$("$tmp/host-static")" = "$version" ] && ! ldd "$tmp/host-static" | grep -q libmcpgw; then
		pass "the same program against libmcpgw.a (pkg-config --static)"
	else
		fail "a program linked with libmcpgw.a"
	fi

	# Purge: /etc/mcpgw (with an admin's policy file), the service's state and runtime directory
	# go; a user's configuration and state stay.
	$SUDO sh -c 'printf "version: 1\n" > /etc/mcpgw/policy.d/10-team.yaml
	    [ -d /var/lib/private ] || install -d -m 0700 /var/lib/private
	    install -d -m 0700 /var/lib/private/mcpgw && echo "{}" > /var/lib/private/mcpgw/catalog.json
	    [ -e /var/lib/mcpgw ] || ln -s private/mcpgw /var/lib/mcpgw
	    install -d -m 0755 /run/mcpgw'
	user=$tmp/home
	mkdir -p "$user/.config/mcpgw" "$user/.local/state/mcpgw"
	printf 'version: 1\n' > "$user/.config/mcpgw/config.yaml"
	echo '{}' > "$user/.local/state/mcpgw/catalog.json"
	if $SUDO dpkg --purge libmcpgw-dev libmcpgw0 mcpgw > "$tmp/purge.log" 2>&1; then
		installed=
		pass "dpkg --purge"
	else
		cat "$tmp/purge.log"; fail "dpkg --purge"
	fi
	left=
	for f in /etc/mcpgw /var/lib/private/mcpgw /var/lib/mcpgw /run/mcpgw /usr/bin/mcpgw /lib/systemd/system/mcpgw.service \
	    /usr/lib/systemd/user/mcpgw.socket "/usr/lib/$multiarch/libmcpgw.so.0" /usr/include/mcpgw; do
		{ [ -e "$f" ] || [ -L "$f" ]; } && left="$left $f"
	done
	[ -z "$left" ] && pass "purge removed /etc/mcpgw, the service's state and runtime directory, and every file" || fail "left after purge:$left"
	if [ -f "$user/.config/mcpgw/config.yaml" ] && [ -f "$user/.local/state/mcpgw/catalog.json" ]; then
		pass "purge left the user's ~/.config/mcpgw and ~/.local/state/mcpgw alone"
	else
		fail "purge touched a user's files"
	fi

	# The same packages under a real systemd, in a container (tests/pkg/nspawn.sh). Root only: it
	# mounts an overlay and boots systemd-nspawn. MCPGW_PKG_NSPAWN=0 leaves it out.
	if [ "${MCPGW_PKG_NSPAWN:-1}" = 0 ]; then
		echo "pkg: skipped: the systemd-nspawn boot test (MCPGW_PKG_NSPAWN=0)"
	elif [ -n "$SUDO" ]; then
		if $SUDO env "BUILD=$BUILD" sh tests/pkg/nspawn.sh; then pass "systemd-nspawn: the units under systemd"; else fail "systemd-nspawn"; fi
	elif sh tests/pkg/nspawn.sh; then
		pass "systemd-nspawn: the units under systemd"
	else
		fail "systemd-nspawn"
	fi
fi

if [ "$fails" -eq 0 ]; then echo "pkg: all checks passed"; else echo "pkg: $fails check(s) failed"; exit 1; fi
