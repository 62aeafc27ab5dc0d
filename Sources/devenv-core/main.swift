import DevenvCommands

await Devenv.execute()
