# Writes OUTPUT, a C file defining attn_default_config_text() with the text of INPUT.
file(READ ${INPUT} text HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${text}")
file(WRITE ${OUTPUT} "/* Generated from configs/default.yaml by core/embed_config.cmake. */\n"
  "#include \"attn/host/attn_config.h\"\n"
  "static const char text[] = {${bytes} 0};\n"
  "const char *attn_default_config_text(void) { return text; }\n")
