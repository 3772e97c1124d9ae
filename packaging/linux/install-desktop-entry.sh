#!/bin/sh
# Adds cxrviewer to this user's applications menu (no root needed). Run it from
# the unpacked folder; run it again after moving the folder.
#   ./install-desktop-entry.sh            install
#   ./install-desktop-entry.sh --remove   remove the menu entry and icon
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
entry=$data/applications/cxrviewer.desktop
icon=$data/icons/hicolor/256x256/apps/cxrviewer.png

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$icon"
    echo "cxrviewer menu entry removed"
    exit 0
fi
if [ ! -x "$here/cxrviewer/cxrviewer" ]; then
    echo "error: $here/cxrviewer/cxrviewer not found; run this script from the unpacked folder" >&2
    exit 1
fi
case "$here" in
    *'"'*|*'`'*|*'$'*|*'\'*|*'|'*)
        echo "error: the folder path contains a character a .desktop Exec line cannot hold: $here" >&2
        exit 1 ;;
esac
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$here/cxrviewer.png" "$icon"
sed "s|@BUNDLE_DIR@|$here/cxrviewer|g" "$here/cxrviewer.desktop" > "$entry"
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database "$(dirname "$entry")" || true
fi
echo "cxrviewer added to the applications menu ($entry)"
