# A stand-in bcryptprimitives.dll for Wine 8, for the tests only (.ci/wine.sh builds it into the
# throwaway prefix's system32; nothing ships it). Go >= 1.22 binaries import
# bcryptprimitives.dll!ProcessPrng for their random numbers; real Windows has it since Windows 10
# (our floor), but Wine 8 has no such DLL, and a Go binary stops at start with "fatal error:
# bcryptprimitives.dll not found". ProcessPrng is a forwarder (see bcryptprimitives.def) to
# advapi32's SystemFunction036 (RtlGenRandom), which Wine has and which fills a buffer the same
# way; this file only provides the entry point a DLL needs.
	.text
	.globl	DllMain
DllMain:			# BOOL WINAPI DllMain(HINSTANCE, DWORD, LPVOID): always TRUE
	movl	$1, %eax
	ret
