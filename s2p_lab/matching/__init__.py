"""The region matcher: each line-bounded region of a sketch takes a color chosen from the
reference's own colors (``predict.Matcher``), before the network shades them.

``features`` pools frozen features over regions and segments, ``model`` is the trainable head and
its loss, ``dataset`` caches training pairs made from illustrations, ``training`` trains from the
cache, ``evaluate`` scores it beside its baselines, ``command`` is ``s2p matcher``. Importing the
package loads none of them; import what you use.
"""
