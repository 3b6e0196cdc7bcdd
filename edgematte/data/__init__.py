"""Data: matting datasets in the layout users have (``<set>/<clip>/{com,pha,fgr}/<frame>.png``)."""
