/* placeholder: plugin/dw_token.c is being written */
