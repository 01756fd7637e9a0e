/* placeholder: tests/unit/stand_in.c is being written */
