# cmake -DIN=file -DOUT=header -P embed.cmake: writes `static const char host_glue_py[]`, the
# bytes of IN and a NUL, as a C array (no escaping rules to get wrong, any length).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from host_glue.py by embed.cmake: do not edit. */\nstatic const char host_glue_py[] = {\n${bytes}0x00};\n")
