"""Compiles every code example of README.md, so none can rot: C and C++ with the project's
warnings against include/, Python through compile(). A C example with its own main() is
compiled as it is; a fragment is compiled inside a function that declares what the README's
fragments take for granted (client, conn, err, names). Usage: readme_examples.py [CC] [CXX]"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_PRELUDE = """#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "redis_sentinel.h"
void example(sentinel_client *client, sentinel_conn *conn, sentinel_error *err,
             const char **names);
void example(sentinel_client *client, sentinel_conn *conn, sentinel_error *err,
             const char **names) {
  (void)client; (void)conn; (void)err; (void)names;
  {
"""
C_WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
              "-Wno-unused-but-set-variable"]


def blocks(text):
    """(language, first line number, code) of every fenced block."""
    for match in re.finditer(r"^```(\w+)\n(.*?)^```$", text, flags=re.S | re.M):
        yield match.group(1), text[:match.start()].count("\n") + 2, match.group(2)


def compile_with(compiler, flags, source, suffix, where):
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as f:
        f.write(source)
    try:
        result = subprocess.run([compiler, *flags, "-I", os.path.join(ROOT, "include"), "-c",
                                 f.name, "-o", os.devnull], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if result.returncode != 0:
        sys.exit("README.md:%d does not compile:\n%s" % (where, result.stderr))


def main():
    cc = sys.argv[1] if len(sys.argv) > 1 else "cc"
    cxx = sys.argv[2] if len(sys.argv) > 2 else "c++"
    text = open(os.path.join(ROOT, "README.md")).read()
    counts = {}
    for language, line, code in blocks(text):
        if language == "c":
            source = code if "int main" in code else C_PRELUDE + code + "  }\n}\n"
            compile_with(cc, C_WARNINGS, source, ".c", line)
        elif language == "cpp":
            compile_with(cxx, ["-std=c++17", "-Wall", "-Wextra", "-pedantic", "-Werror"], code,
                         ".cpp", line)
        elif language == "python":
            try:
                compile(code, "README.md:%d" % line, "exec")
            except SyntaxError as e:
                sys.exit("README.md:%d: %s" % (line, e))
        else:
            continue
        counts[language] = counts.get(language, 0) + 1
    if not counts.get("c") or not counts.get("cpp") or not counts.get("python"):
        sys.exit("README.md lost its C, C++ or Python examples: %r" % counts)
    print("README examples compile: %s" % ", ".join("%d %s" % (n, lang) for lang, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
