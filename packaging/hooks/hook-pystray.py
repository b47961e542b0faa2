# Replaces pyinstaller-hooks-contrib's hook, whose collect_submodules("pystray") imports pystray, which picks and
# starts a backend on import and fails without a display ("Failed to collect submodules ... DisplayNameError").
# The backends are named instead; pystray chooses among them at run time (PYSTRAY_BACKEND overrides).
from PyInstaller.compat import is_darwin, is_win

if is_win:
    hiddenimports = ["pystray._win32", "pystray._util.win32"]
elif is_darwin:
    hiddenimports = ["pystray._darwin"]
else:
    hiddenimports = ["pystray._appindicator", "pystray._gtk", "pystray._xorg", "pystray._util.gtk",
                     "pystray._util.notify_dbus"]
