#!/bin/sh
# build-deb.sh OUTDIR VERSION: builds the Debian packages (packaging/debian/) from a copy of the
# source tree in OUTDIR/src, so that dpkg-buildpackage (which cleans its tree first and writes to
# the parent directory) touches neither the developer's build/ nor anything outside OUTDIR. The
# version is the project's own (gateway/util/version.h); the .deb files end in OUTDIR.
set -eu
cd "$(dirname "$0")/.."

out=${1:?usage: build-deb.sh OUTDIR VERSION}
version=${2:?usage: build-deb.sh OUTDIR VERSION}
for t in dpkg-buildpackage dh scdoc; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "make deb: $t not found: apt-get install debhelper dpkg-dev scdoc (sh scripts/install-deps.sh)" >&2
		exit 1
	}
done

rm -rf "$out/src"
src=$out/src/mcpgw-$version
mkdir -p "$src"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo

# The sources only: what git knows (tracked, and new files not ignored), else everything but the
# build trees and node_modules.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard -- . ':!:node_modules' |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	    tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude='./build*' --exclude=./node_modules --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
cp -R packaging/debian "$src/debian"

# debian/changelog carries the version; it is written here so that version.h stays the only place.
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
cat > "$src/debian/changelog" <<EOC
mcpgw ($version) unstable; urgency=medium

  * Built from the mcpgw source tree (see git log for the changes).

 -- mcpgw maintainers <mcpgw@example.org>  $date
EOC

: "${DEB_BUILD_OPTIONS:=parallel=$(nproc 2>/dev/null || echo 2)}"
export DEB_BUILD_OPTIONS
(cd "$src" && dpkg-buildpackage -b -us -uc)
mv "$out/src"/*.deb "$out/src"/*.changes "$out/src"/*.buildinfo "$out/"
rm -rf "$out/src"
echo "make deb: $(cd "$out" && ls *.deb | tr '\n' ' ')in $out/"
