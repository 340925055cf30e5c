fn main() -> std::process::ExitCode {
    torwatch::cli::main()
}
