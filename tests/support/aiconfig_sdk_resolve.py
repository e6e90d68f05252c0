"""Resolve every prompt of a config with the AIConfig SDK and print {prompt: request} as JSON.

Runs inside a virtualenv that has python-aiconfig (see tests/support/sdk_venv.py), never in ours:
    SDK_PYTHON tests/support/aiconfig_sdk_resolve.py CONFIG [PROMPT...]
"""

import asyncio
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")
os.environ.setdefault("OPENAI_API_KEY", "sk-not-used")


async def main(path, names):
    from aiconfig import AIConfigRuntime

    config = AIConfigRuntime.load(path)
    out = {}
    for name in names or [p.name for p in config.prompts]:
        try:
            out[name] = await config.resolve(name, {})
        except Exception as exc:  # record, so the caller can compare failures too
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
