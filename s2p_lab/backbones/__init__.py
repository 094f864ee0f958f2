"""Pretrained image networks whose weights ship inside installable packages, converted to safetensors."""
