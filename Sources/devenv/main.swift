import DevenvCommands

await Devenv.main()
