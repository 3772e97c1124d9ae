; Inno Setup 6 script: a per-user or all-users installer for the Windows bundle.
; Written, not yet compiled or tested: build the bundle ON WINDOWS first
; (python -m PyInstaller build.spec -> dist\cxrviewer\cxrviewer.exe and cxr.exe), then
;   iscc /DAppVersion=0.1.0 /DVariant=cpu packaging\windows\cxrviewer.iss
; Output: dist\cxrviewer-<version>-windows-x64-<variant>-setup.exe

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Variant
  #define Variant "cpu"
#endif
#define AppName "cxrviewer"
#define BundleDir "..\..\dist\cxrviewer"

[Setup]
; A fixed AppId lets later versions upgrade this install in place. Never change it.
AppId={{6F3C2B1E-8A4D-4E2F-9C71-3B5A0D9E4C21}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion} (research use only)
AppPublisher=cxrviewer developers
AppComments=Chest X-ray viewer with an AI second reader. Research use only, not a diagnostic device.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Radiologists rarely have admin rights: install per user unless they choose otherwise.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-{#Variant}-setup
SetupIconFile=..\..\resources\icons\cxrviewer.ico
UninstallDisplayIcon={app}\cxrviewer.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=no

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole one-folder bundle: both executables and _internal\ with everything they share.
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\cxrviewer.exe"; Comment: "Chest X-ray viewer (research use only)"
Name: "{group}\{#AppName} demo images"; Filename: "{app}\cxrviewer.exe"; Parameters: "--demo"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\cxrviewer.exe"; Tasks: desktopicon

[Run]
; Prove the install works before the reader relies on it (model, codecs, Qt; headless).
Filename: "{app}\cxr.exe"; Parameters: "--smoke-test"; StatusMsg: "Checking the installation..."; Flags: runhidden waituntilterminated
Filename: "{app}\cxrviewer.exe"; Parameters: "--demo"; Description: "Open cxrviewer with the demo images"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Python may leave byte-code caches beside the bundled resources.
Type: filesandordirs; Name: "{app}\_internal\cxrviewer_resources\__pycache__"
