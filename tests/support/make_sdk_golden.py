"""Record what the AIConfig SDK resolves for our samples and some cookbook files.

    python tests/support/make_sdk_golden.py SDK_PYTHON

SDK_PYTHON is a python with python-aiconfig==1.1.34 (and google-generativeai==0.3.2, which the
SDK's PaLM parser needs). For each sample, our offline runner first fills in every output (so the
SDK also reads outputs we wrote); then the SDK resolves every prompt. Each golden file holds the
exact document resolved and the SDK's answer: tests/test_sdk_compat.py compares ours against it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers import COOKBOOK, SAMPLES  # noqa: E402
from tui_app.core.config import load  # noqa: E402
from tui_app.core.workspace import Workspace  # noqa: E402

COOKBOOK_PICKS = [
    "python_tests_aiconfigs_basic_chatgpt_query_config.json",
    "python_tests_aiconfigs_chained_gpt_config.json",
    "python_tests_aiconfigs_system_prompt_parameters_config.json",
    "python_tests_aiconfigs_travel_gpt_prompts_with_dependency.json",
    "python_tests_aiconfigs_GPT4_Coding_Assistant_aiconfig.json",
    "python_demo_parameterized_data_config.json",
    "cookbooks_Getting-Started_travel.aiconfig.json",
]


async def _fill_outputs(path: Path) -> None:
    config = load(path)
    workspace = Workspace.for_document(config, history=False)
    # every prompt on the offline echo model: the run needs no key and is deterministic; an
    # override run keeps its answers to itself, so each is written into the document here
    run = await workspace.run(None, model="echo", settings={"delay": 0})
    for name, result in run.results.items():
        if result.output is not None:
            config.prompt(name).set_outputs([result.output])
    config.save()


def _sdk(sdk_python: str, path: Path) -> dict:
    result = subprocess.run(
        [sdk_python, str(REPO / "tests/support/aiconfig_sdk_resolve.py"), str(path)],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(sdk_python: str) -> None:
    out_dir = REPO / "tests" / "golden"
    out_dir.mkdir(exist_ok=True)
    sources = [(p, True) for p in sorted(SAMPLES.glob("*.json"))] + [
        (COOKBOOK / name, False) for name in COOKBOOK_PICKS
    ]
    for source, fill in sources:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / source.name
            path.write_text(source.read_text())
            if fill:
                asyncio.run(_fill_outputs(path))
            document = json.loads(path.read_text())
            golden = {"source": source.name, "document": document, "sdk": _sdk(sdk_python, path)}
        target = out_dir / (source.stem + ".sdk.json")
        target.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {target.relative_to(REPO)}")


if __name__ == "__main__":
    main(sys.argv[1])
