#!/bin/sh
# Build (or reuse) the nodeops lab node image; see build_image.py for details.
exec python3 "$(dirname "$0")/build_image.py" "$@"
