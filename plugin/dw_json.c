/* placeholder: plugin/dw_json.c is being written */
