"""Modal screens: the swap and environment dialogs (preview, then apply) and the help."""
