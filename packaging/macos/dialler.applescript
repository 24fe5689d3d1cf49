-- partnercrmd Dialler: forwards tel:, callto: and sip: links to `partnercrmd dial`.
--
-- macOS hands a clicked link to the application that claims its scheme (CFBundleURLTypes in
-- Info.plist) as an Apple Event (class kInternetEventClass, id kAEGetURL: 'GURL' 'GURL'), never as
-- a command-line argument. In an AppleScript applet that event calls the `open location` handler.
-- @PARTNERCRMD@ is replaced by the absolute path of the partnercrmd command when the applet is
-- built (see README.md): an application started by macOS does not get the PATH of your shell.

property partnercrmdCommand : "@PARTNERCRMD@"

on open location theURL
	try
		do shell script quoted form of partnercrmdCommand & " dial " & quoted form of theURL
	on error errorMessage
		-- e.g. "partnercrmd: partnercrmd is not running ..." or "... not one phone number ..."
		display notification errorMessage with title "partnercrmd could not dial"
	end try
end open location

on run
	display dialog "partnercrmd Dialler passes tel:, callto: and sip: links to partnercrmd, which asks your phone client to dial them. There is nothing to do here." buttons {"OK"} default button 1 with title "partnercrmd Dialler"
end run
