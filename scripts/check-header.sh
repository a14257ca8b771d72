#!/usr/bin/env bash
# The committed header must compile cleanly as C99 and as C++17 with strict warnings.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/header-check
mkdir -p "$out"
printf '#include "sealnet.h"\nint main(void) { return peer_version() == 0; }\n' > "$out/use.c"
cp "$out/use.c" "$out/use.cpp"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -I "$root/include" -c "$out/use.c" -o "$out/use_c.o"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -I "$root/include" -c "$out/use.cpp" -o "$out/use_cpp.o"
echo "header: compiles as C99 and C++17 with -Wall -Wextra -Werror -pedantic"
